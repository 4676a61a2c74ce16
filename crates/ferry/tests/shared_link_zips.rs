//! A shared download link's "Download all" ZIP runs for as long as its recipient reads: the
//! link's session is asked again as the archive is written, so revoking the link stops a ZIP
//! already under way within a second (it is cut short), as it refuses the link's next request.

mod common;

use common::paused_get::paused_get;
use common::web::{Browser, text_after};
use common::{APP, Server};
use ferry_testkit::Backend;
use serde_json::json;

#[test]
fn revoking_a_link_stops_its_zip_under_way() {
    let s = Server::start_with(Backend::Sqlite, common::TOOLS);
    s.add_user("bob", "member", "bob-password-1");
    let (api, _) = s.open("bob", "bob-password-1", APP);
    let (_, home) = s.call("GetHomeFolder", json!({"sessionID": api}));
    let home = home["FolderID"].as_i64().unwrap();
    // 24 files of 256 KiB (6 MiB, more where socket buffers are larger): more than the
    // server's socket buffer takes.
    let count = common::paused_get::beyond_socket_buffers(24);
    let items: Vec<String> = (0..count as u32)
        .map(|i| {
            let content: Vec<u8> = (0..256 * 1024u32).map(|j| (i + j % 239) as u8).collect();
            let (status, f) = s.put_file(&api, home, &format!("f{i:02}.bin"), "", &content);
            assert_eq!(status, 200);
            format!("f:{}", f["FileID"])
        })
        .collect();

    let mut bob = Browser::new(&s);
    let page = bob.sign_in("bob", "bob-password-1").location.unwrap();
    let token = bob.csrf(&page);
    let mut form = vec![("csrf", token.as_str()), ("action", "share"), ("days", "7")];
    form.extend(items.iter().map(|i| ("item", i.as_str())));
    let made = bob.post(&format!("/web/folders/{home}/selection"), &form);
    assert_eq!(made.status, 200, "{}", made.body);
    let link = text_after(
        &made.body,
        "id=\"link\" class=\"link-field\" readonly value=\"",
        '"',
    )
    .replace("&amp;", "&");
    let path = &link[link.find("/tools/download").unwrap()..];
    let (status, html) = s.get(path);
    assert_eq!(status, 200, "{html}");
    let zip = format!(
        "/tools/zip?grant={}",
        text_after(&html, "/tools/zip?grant=", '"')
    );
    let entries = |zip: &[u8]| zip.windows(4).filter(|w| *w == b"PK\x03\x04").count();

    // Read slowly with the link alive: whole.
    let slow = paused_get(&s.base, &zip, &[], || {
        std::thread::sleep(std::time::Duration::from_millis(1500))
    });
    assert!(
        slow.complete && entries(&slow.body) == count,
        "{}",
        slow.head
    );

    // Revoked while the recipient reads: cut short.
    let links = bob.get("/web/links").body;
    let revoke = format!(
        "/web/links/{}/revoke",
        text_after(&links, "/web/links/", '/')
    );
    let token = bob.csrf("/web/links");
    let cut = paused_get(&s.base, &zip, &[], || {
        assert_eq!(bob.post(&revoke, &[("csrf", &token)]).status, 303);
        std::thread::sleep(std::time::Duration::from_millis(1500));
    });
    assert!(entries(&cut.body) < count, "{} entries", entries(&cut.body));
    assert!(!cut.body.windows(4).any(|w| w == b"PK\x05\x06"));
    assert_eq!(s.get(path).0, 403, "the link itself is refused");
}
