//! A download link may allow a number of downloads, set by its maker in the web client's
//! "Share" form: each request for a file's bytes, or the ZIP of all, takes one (a `HEAD`
//! none), downloads at once never take more than allowed, and a link whose downloads are used
//! up is refused like an ended one, its further tries audited once a minute. Before
//! (2026-12-07) a link served whoever held it without end, each download a `FileDownloaded`
//! record written at the holder's pace.

#[path = "folders/api.rs"]
mod api;
mod common;

use api::Api;
use common::web::{Browser, text_after};
use common::{Server, assert_error};
use ferry_testkit::{Backend, on_both_backends};

on_both_backends!(
    a_link_serves_the_downloads_it_allows_and_no_more,
    downloads_at_once_take_no_more_than_allowed
);

/// A server with the tools' key, ann signed in to the web client, and `files` small files in
/// her home folder: (server, ann's browser, her folder page, the files' IDs).
fn with_files(backend: Backend, files: usize) -> (Server, Browser, String, Vec<i64>) {
    let s = Server::start_with(backend, common::TOOLS);
    s.add_user("ann", "member", "ann-password-1");
    let mut ann = Browser::new(&s);
    let home = ann.sign_in("ann", "ann-password-1").location.unwrap();
    let api = Api::new(&s, "ann", "ann-password-1");
    let folder: i64 = home.rsplit('/').next().unwrap().parse().unwrap();
    let ids = (0..files)
        .map(|i| {
            let (status, f) = s.put_file(
                &api.session,
                folder,
                &format!("part{i}.csv"),
                "",
                b"a,b\n1,2\n",
            );
            assert_eq!(status, 200, "{f}");
            f["FileID"].as_i64().unwrap()
        })
        .collect();
    (s, ann, home, ids)
}

/// Shares `files` from `home` with `downloads` as the form's field; the answer's status and
/// the link's path when one was made.
fn share(ann: &mut Browser, home: &str, files: &[i64], downloads: &str) -> (u16, String) {
    let token = ann.csrf(home);
    let items: Vec<String> = files.iter().map(|f| format!("f:{f}")).collect();
    let mut form = vec![
        ("csrf", token.as_str()),
        ("action", "share"),
        ("days", "7"),
        ("downloads", downloads),
    ];
    form.extend(items.iter().map(|i| ("item", i.as_str())));
    let made = ann.post(&format!("{home}/selection"), &form);
    if made.status != 200 {
        return (made.status, made.body);
    }
    let link = text_after(
        &made.body,
        "id=\"link\" class=\"link-field\" readonly value=\"",
        '"',
    )
    .replace("&amp;", "&");
    (
        200,
        link[link.find("/tools/download").unwrap()..].to_string(),
    )
}

fn a_link_serves_the_downloads_it_allows_and_no_more(backend: Backend) {
    let (s, mut ann, home, files) = with_files(backend, 2);

    // Bad input changes nothing: no link is made.
    for bad in ["0", "-1", "10001", "abc", "1.5", "99999999999999999999"] {
        let (status, body) = share(&mut ann, &home, &files, bad);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("downloads allowed"), "{bad}: {body}");
    }
    // An upload link counts no downloads.
    let token = ann.csrf(&home);
    let asked = ann.post(
        &format!("{home}/request-link"),
        &[("csrf", &token), ("days", "7"), ("downloads", "3")],
    );
    assert_eq!(asked.status, 400, "{}", asked.body);
    assert!(asked.body.contains("only a download link counts downloads"));
    assert!(
        ann.get("/web/links")
            .body
            .contains("You have not shared a link yet")
    );

    let (status, link) = share(&mut ann, &home, &files, "3");
    assert_eq!(status, 200, "{link}");
    let (status, page) = s.get(&link);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("This link allows 3 more downloads"), "{page}");
    let grant = text_after(&page, "/tools/zip?grant=", '"').to_string();
    let file = |id: i64| format!("/tools/files/{id}?grant={grant}");

    // A HEAD takes none; two files and the ZIP take the three.
    let mut stranger = Browser::new(&s);
    assert_eq!(stranger.head(&file(files[0])).status, 200);
    assert_eq!(
        stranger.head(&format!("/tools/zip?grant={grant}")).status,
        200
    );
    assert_eq!(s.get(&file(files[0])), (200, "a,b\n1,2\n".to_string()));
    let (status, body) = s.get_with(&file(files[1]), &[("Range", "bytes=0-2")]);
    assert_eq!((status, body.as_str()), (206, "a,b"));
    let (status, _) = s.get(&format!("/tools/zip?grant={grant}"));
    assert_eq!(status, 200);
    let (_, again) = s.get(&link);
    assert!(
        !again.contains("data-bytes"),
        "a used-up link's page is refused"
    );

    // The fourth: refused with the page's limit, however often it is tried.
    for _ in 0..10 {
        let (status, body) = s.get(&file(files[0]));
        assert_error(&(status, serde_json::from_str(&body).unwrap()), 403, 142);
        assert!(body.contains("downloads are used up"), "{body}");
    }
    let (status, body) = s.get(&format!("/tools/zip?grant={grant}"));
    assert_error(&(status, serde_json::from_str(&body).unwrap()), 403, 142);
    let garbage = s.get("/tools/download?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(s.get(&link), garbage, "refused as any ended link");

    let links = ann.get("/web/links").body;
    assert!(
        links.contains(">3 of 3<") && links.contains(">used up<"),
        "{links}"
    );

    let audit = s.audit();
    let of = |op: &str| {
        audit
            .iter()
            .filter(|r| r["operation"] == op)
            .collect::<Vec<_>>()
    };
    // Two files alone, then both in the ZIP.
    assert_eq!(of("FileDownloaded").len(), 4, "{:?}", of("FileDownloaded"));
    let denied = of("AccessDenied");
    assert_eq!(denied.len(), 1, "folded: {denied:?}");
    assert!(
        denied[0]["detail"]
            .as_str()
            .unwrap()
            .contains("its 3 downloads are used up")
    );
    let created = of("LinkCreated");
    assert!(
        created[0]["detail"]
            .as_str()
            .unwrap()
            .contains("at most 3 downloads"),
        "{created:?}"
    );
    let refused = of("ToolTokenRefused");
    assert!(
        refused.iter().any(|r| r["detail"]
            .as_str()
            .unwrap()
            .contains("downloads are used up")),
        "{refused:?}"
    );

    // A link without a limit serves on.
    let (_, open) = share(&mut ann, &home, &files[..1], "");
    let (_, page) = s.get(&open);
    assert!(!page.contains("more download"), "{page}");
    let one = format!(
        "/tools/files/{}?grant={}",
        files[0],
        text_after(&page, "?grant=", '"')
    );
    for _ in 0..5 {
        assert_eq!(s.get(&one).0, 200);
    }
    assert!(ann.get("/web/links").body.contains(">any number<"));
}

/// Twenty downloads at once through a link that allows five: five are served.
fn downloads_at_once_take_no_more_than_allowed(backend: Backend) {
    let (s, mut ann, home, files) = with_files(backend, 1);
    let (status, link) = share(&mut ann, &home, &files, "5");
    assert_eq!(status, 200, "{link}");
    let (_, page) = s.get(&link);
    let path = format!(
        "/tools/files/{}?grant={}",
        files[0],
        text_after(&page, "?grant=", '"')
    );
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..20).map(|_| scope.spawn(|| s.get(&path).0)).collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        answers.iter().filter(|a| **a == 200).count(),
        5,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|a| **a == 403).count(),
        15,
        "{answers:?}"
    );
    let downloaded = s
        .audit()
        .into_iter()
        .filter(|r| r["operation"] == "FileDownloaded")
        .count();
    assert_eq!(downloaded, 5);
}
