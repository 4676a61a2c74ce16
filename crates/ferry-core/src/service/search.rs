//! `Search` over folder and file names with `*` wildcards, showing only what the caller may
//! see.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::files::{FileView, MAX_PAGE};
use super::folders::FolderView;
use super::{Service, SessionContext};
use crate::domain::{FolderId, Permissions};
use crate::error::{Error, Result};
use crate::text;

/// Candidates examined per store query while searching.
const BATCH: i64 = 500;
/// Candidates examined at most per search, whatever matches: bounds the work of one request.
const MAX_SCANNED: usize = 20_000;

/// What `Search` answers: the matching folders, then the matching files.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    /// Folders the caller may see (Show).
    pub folders: Vec<FolderView>,
    /// Files in folders the caller may read (Read).
    pub files: Vec<FileView>,
}

/// Turns a search string into a `LIKE` pattern over name keys: `*` matches any run of
/// characters, `%`, `_` and `\` match themselves, and a string without `*` matches names that
/// contain it.
pub(crate) fn like_pattern(search: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let key = text::item_key(&search.nfc().collect::<String>());
    let mut pattern = String::with_capacity(key.len() + 2);
    if !key.contains('*') {
        pattern.push('%');
    }
    for c in key.chars() {
        match c {
            '*' => pattern.push('%'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c => pattern.push(c),
        }
    }
    if !key.contains('*') {
        pattern.push('%');
    }
    pattern
}

/// Which kinds of item a search returns (RAPR's `Search`, `Search/Folders`, `Search/Files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKinds {
    /// Folders, then files.
    Both,
    /// Folders only.
    Folders,
    /// Files only.
    Files,
}

/// One search's progress: the caller's bits on the folders met so far, and how many
/// candidates were examined (at most [`MAX_SCANNED`] in all).
#[derive(Default)]
struct Scan {
    bits: HashMap<FolderId, Permissions>,
    scanned: usize,
}

pub(super) fn check_page(skip: i64, take: i64) -> Result<()> {
    if skip < 0 || !(1..=MAX_PAGE).contains(&take) {
        return Err(Error::invalid(format!(
            "skip must be 0 or more and take between 1 and {MAX_PAGE}"
        )));
    }
    Ok(())
}

impl Service {
    /// `Search`: folders and files whose names match, in ID order (folders first), paged over
    /// what the caller may see. At most 20,000 candidates are examined per call.
    pub async fn search(
        &self,
        ctx: &SessionContext,
        search: &str,
        skip: i64,
        take: i64,
    ) -> Result<SearchResult> {
        self.search_kinds(ctx, search, SearchKinds::Both, skip, take)
            .await
    }

    /// [`Service::search`] over only the `kinds` asked for, paged over those alone.
    pub async fn search_kinds(
        &self,
        ctx: &SessionContext,
        search: &str,
        kinds: SearchKinds,
        skip: i64,
        take: i64,
    ) -> Result<SearchResult> {
        text::required("searchString", search, 255)?;
        check_page(skip, take)?;
        let pattern = like_pattern(search);
        let mut scan = Scan::default();
        let mut result = SearchResult::default();
        let mut seen = 0i64;
        let wanted = skip.saturating_add(take);

        if kinds != SearchKinds::Files {
            let flow = self
                .visible_folders(ctx, &pattern, &mut scan, |view| {
                    if seen >= skip {
                        result.folders.push(view);
                    }
                    seen += 1;
                    if seen >= wanted {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .await?;
            if flow.is_break() {
                return Ok(result);
            }
        }
        let mut after = 0;
        while kinds != SearchKinds::Folders && scan.scanned < MAX_SCANNED {
            let batch = self.store.search_files(&pattern, after, BATCH).await?;
            let done = (batch.len() as i64) < BATCH;
            for file in batch {
                after = file.id;
                scan.scanned += 1;
                let effective = self
                    .cached_bits(ctx, &mut scan.bits, file.folder_id)
                    .await?;
                if effective.contains(Permissions::READ) {
                    if seen >= skip {
                        result.files.push(FileView::checked(file, effective));
                    }
                    seen += 1;
                    if seen >= wanted {
                        return Ok(result);
                    }
                }
                if scan.scanned >= MAX_SCANNED {
                    break;
                }
            }
            if done {
                break;
            }
        }
        Ok(result)
    }

    /// `SearchFolders` (SARG 2.8's `FTHFolderSearchPagingData`): the page of folders the caller
    /// may see (Show) whose names match, from `start` for `length`, and how many match in all.
    /// At most [`MAX_SCANNED`] candidates are examined, so the total counts among those.
    pub async fn search_folders_paged(
        &self,
        ctx: &SessionContext,
        search: &str,
        start: i64,
        length: i64,
    ) -> Result<(Vec<FolderView>, i64)> {
        text::required("searchString", search, 255)?;
        check_page(start, length)?;
        let pattern = like_pattern(search);
        let (mut page, mut total) = (Vec::new(), 0i64);
        // Every match is counted, so the walk never stops early.
        let _ = self
            .visible_folders(ctx, &pattern, &mut Scan::default(), |view| {
                if total >= start && total - start < length {
                    page.push(view);
                }
                total += 1;
                ControlFlow::Continue(())
            })
            .await?;
        Ok((page, total))
    }

    /// [`Service::search`] with the names of the folders the found files are in (folders the
    /// caller may read, since they may read the files): the web client's search page.
    pub async fn search_page(
        &self,
        ctx: &SessionContext,
        search: &str,
        skip: i64,
        take: i64,
    ) -> Result<(SearchResult, HashMap<FolderId, String>)> {
        let result = self.search(ctx, search, skip, take).await?;
        let mut names = HashMap::new();
        for f in &result.files {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(f.file.folder_id)
                && let Some(folder) = self.store.folder(f.file.folder_id).await?
            {
                slot.insert(folder.name);
            }
        }
        Ok((result, names))
    }

    /// Hands `visit` each folder whose name matches `pattern` and that the caller may see
    /// (Show), in ID order, until `visit` breaks or the scan has examined [`MAX_SCANNED`]
    /// candidates; says whether `visit` broke.
    async fn visible_folders(
        &self,
        ctx: &SessionContext,
        pattern: &str,
        scan: &mut Scan,
        mut visit: impl FnMut(FolderView) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let mut after = 0;
        while scan.scanned < MAX_SCANNED {
            let batch = self.store.search_folders(pattern, after, BATCH).await?;
            let done = (batch.len() as i64) < BATCH;
            for folder in batch {
                after = folder.id;
                scan.scanned += 1;
                let effective = self.cached_bits(ctx, &mut scan.bits, folder.id).await?;
                if effective.contains(Permissions::SHOW)
                    && visit(FolderView::new(folder, effective)).is_break()
                {
                    return Ok(ControlFlow::Break(()));
                }
                if scan.scanned >= MAX_SCANNED {
                    break;
                }
            }
            if done {
                break;
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The caller's bits on a folder, remembered for the rest of one request; folders that do
    /// not exist (or lie under a deleted one) hold no bits.
    async fn cached_bits(
        &self,
        ctx: &SessionContext,
        cache: &mut HashMap<FolderId, Permissions>,
        folder: FolderId,
    ) -> Result<Permissions> {
        if let Some(bits) = cache.get(&folder) {
            return Ok(*bits);
        }
        let bits = match self.effective(ctx, folder).await {
            Ok(bits) => bits,
            Err(Error::FolderNotFound) => Permissions::NONE,
            Err(e) => return Err(e),
        };
        cache.insert(folder, bits);
        Ok(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn wildcards_and_escapes() {
        assert_eq!(like_pattern("*.PDF"), "%.pdf");
        assert_eq!(like_pattern("report*2026*"), "report%2026%");
        assert_eq!(like_pattern("100%_done"), "%100\\%\\_done%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
        assert_eq!(like_pattern("caf\u{65}\u{301}"), "%caf\u{e9}%");
    }
}
