"""Thru's REST scenario (RAPR) over Ferry's /REST wire, with Python's requests, in JSON or in
XML: sessions (Session replaces, ImmutableSession does not, errors), a folder tree (create,
read, rename and move in JSON and XML bodies, content, delete), search (both kinds, folders,
files, paging), Server/Info, and DELETE Session.

Usage: requests_session.py BASE APP USER PASSWORD USER_ID FORMAT
FORMAT is "json" or "xml". Prints one line per check; exits non-zero on the first failure.
"""
import sys
import xml.etree.ElementTree as ET

import requests

base, app, user, pw, user_id, fmt = sys.argv[1:7]
rest = f"{base}/REST/1.3"
accept = {"Accept": f"application/{fmt}"}
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def element(node):
    """An XML answer as a dict (lists of objects as lists of dicts, nil as None)."""
    out = {}
    for child in node:
        if child.get(XSI_NIL) == "true":
            out[child.tag] = None
        elif len(child) and child[0].tag == "string":
            out[child.tag] = [c.text or "" for c in child]
        elif len(child):
            out[child.tag] = [element(c) for c in child]
        elif child.tag in ("Files", "Folders", "Tags"):
            out[child.tag] = []
        else:
            out[child.tag] = child.text or ""
    return out


def body(r):
    """The answer's object, from JSON or XML as asked; checks the content type matches."""
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith(f"application/{fmt}"), f"{r.status_code} {ctype}: {r.text}"
    if fmt == "json":
        return r.json()
    root = ET.fromstring(r.content)
    return {"_name": root.tag, **element(root)}


def num(v):
    """Integers come as text in XML."""
    return int(v) if isinstance(v, str) else v


def ok(r, status=200):
    assert r.status_code == status, f"{r.request.method} {r.url}: {r.status_code} {r.text}"
    return body(r) if status != 204 else None


def refused(what, status, code, r):
    assert r.status_code == status, f"{what}: {r.status_code} (wanted {status}) {r.text}"
    err = body(r)
    if fmt == "xml":
        assert err["_name"] == "ErrorInfo", err
    assert num(err["ErrorCode"]) == code, f"{what}: {err}"
    assert err["Message"], err
    print(f"refused {what}: {code}")


def sign_in(kind="Session", **extra):
    form = {"UserName": user, "Password": pw, "ClientVersion": f"requests-{fmt}",
            "ApplicationId": app, "Device_UUID": "device-1", **extra}
    return requests.post(f"{rest}/{kind}", data=form, headers=accept)


# Session replaces the user's previous session for the application.
first = ok(sign_in())
second = ok(sign_in(UserString="ext-requests"))
assert second["UserID"] == user_id, second
if fmt == "xml":
    assert second["_name"] == "ThruPublicSession", second
auth = {**accept, "Authorization": second["SessionID"]}
refused("a replaced session", 401, 101, requests.get(
    f"{rest}/Server/Info", headers={**accept, "Authorization": first["SessionID"]}))
info = ok(requests.get(f"{rest}/Server/Info", headers=auth))
assert info["Title"] == "Ferry" and info["RestVersion"] == "1.3", info
assert info["Name"] == "127.0.0.1" and info["Enabled"] in (True, "true"), info
print("Session replaces")

# ImmutableSession does not replace.
one = ok(sign_in("ImmutableSession"))
two = ok(sign_in("ImmutableSession"))
for s in (one, two, second):
    ok(requests.get(f"{rest}/Server/Info", headers={**accept, "Authorization": s["SessionID"]}))
print("ImmutableSession does not replace")

refused("a wrong password", 401, 102, sign_in(Password="wrong"))
refused("a missing Device_UUID", 400, 110, requests.post(
    f"{rest}/Session", data={"UserName": user, "Password": pw, "ApplicationId": app},
    headers=accept))
refused("an unregistered application", 403, 104, sign_in(ApplicationId="4242"))
refused("ImmutableSession before REST 1.3", 404, 112, requests.post(
    f"{base}/REST/1.2/ImmutableSession", data={"UserName": user}, headers=accept))

# A folder tree: create with a form, read, rename and move with JSON and XML bodies.
home = requests.post(f"{base}/api/v1/GetHomeFolder",
                     json={"sessionID": second["SessionID"]}).json()["FolderID"]
made = ok(requests.post(f"{rest}/FileSystem/Folder", headers=auth,
                        data={"Name": "Reports 2026", "ParentFolderId": str(home),
                              "Description": "Quarterly reports", "Tags[]": ""}))
folder = made["FolderID"]
assert made["Name"] == "Reports 2026" and made["ParentFolderID"] == str(home), made
assert made["Description"] == "Quarterly reports", made
assert num(made["EffectivePermission"]) == 255, made
assert made["DateCreated"].startswith("/Date("), made
sub = ok(requests.post(f"{rest}/FileSystem/Folder", headers=auth,
                       data={"Name": "Inbox", "ParentFolderId": str(home)}))["FolderID"]
got = ok(requests.get(f"{rest}/FileSystem/Folder/{folder}", headers=auth))
assert got["FolderID"] == folder and got["Path"] is None, got
moved = ok(requests.put(f"{rest}/FileSystem/Folder/{folder}", headers=auth,
                        json={"Name": "Q4", "ParentFolderId": sub, "FolderId": "ignored"}))
assert moved["Name"] == "Q4" and moved["ParentFolderID"] == sub, moved
back = ok(requests.put(
    f"{rest}/FileSystem/Folder/{folder}",
    headers={**auth, "Content-Type": "application/xml"},
    data=f"<ThruPublicFolderInfo><Name>Q4 final</Name><ParentFolderId>{home}</ParentFolderId>"
         f"<Tags/></ThruPublicFolderInfo>".encode()))
assert back["Name"] == "Q4 final" and back["ParentFolderID"] == str(home), back
refused("a name with a slash (nothing moved)", 400, 110, requests.put(
    f"{rest}/FileSystem/Folder/{folder}", headers=auth,
    json={"Name": "a/b", "ParentFolderId": sub, "Description": "changed"}))
refused("a name taken (nothing moved, the description put back)", 409, 108, requests.put(
    f"{rest}/FileSystem/Folder/{folder}", headers=auth,
    json={"Name": "Inbox", "Description": "changed"}))
still = ok(requests.get(f"{rest}/FileSystem/Folder/{folder}", headers=auth))
assert still["ParentFolderID"] == str(home) and still["Name"] == "Q4 final", still
assert still["Description"] == "Quarterly reports", still
described = ok(requests.put(f"{rest}/FileSystem/Folder/{folder}", headers=auth,
                            data={"Description": "Q4, final"}))
assert described["Description"] == "Q4, final", described
refused("a description with a control character", 400, 110, requests.post(
    f"{rest}/FileSystem/Folder", headers=auth,
    data={"Name": "ctl", "ParentFolderId": str(home), "Description": "a\x01b"}))
refused("tags", 400, 110, requests.post(f"{rest}/FileSystem/Folder", headers=auth,
                                        data={"Name": "t", "ParentFolderId": str(home),
                                              "Tags[]": "567"}))
refused("a folder ID that is no number", 400, 110, requests.get(
    f"{rest}/FileSystem/Folder/1%20OR%201=1", headers=auth))
refused("a folder that does not exist", 404, 201, requests.get(
    f"{rest}/FileSystem/Folder/999999", headers=auth))
content = ok(requests.get(f"{rest}/FileSystem/Folder/{home}/Content/0/100", headers=auth))
names = sorted(f["Name"] for f in content["Folders"])
assert names == ["Inbox", "Q4 final"], content
assert content["Files"] == [], content
page = ok(requests.get(f"{rest}/FileSystem/Folder/{home}/Content/1/1", headers=auth))
assert len(page["Folders"]) == 1, page
print("folder tree")

# A file: uploaded with upload.aspx, then read, renamed and moved, listed, over REST.
up = requests.post(f"{base}/upload.aspx", data={"SessionID": second["SessionID"],
                   "folderID": folder, "filename0": "q4.csv"},
                   files={"file": ("q4.csv", b"a,b\n1,2\n")})
assert up.status_code == 200 and up.headers["X-FTH-Error"] == "", up.text
file_id = str(up.json()[0]["FileID"])
info = ok(requests.get(f"{rest}/FileSystem/File/{file_id}", headers=auth))
assert info["Name"] == "q4.csv" and num(info["Size"]) == 8, info
assert info["ParentFolderID"] == folder, info
renamed = ok(requests.put(f"{rest}/FileSystem/File/{file_id}", headers=auth,
                          data={"Name": "q4-final.csv", "ParentFolderId": sub}))
assert renamed["Name"] == "q4-final.csv" and renamed["ParentFolderID"] == sub, renamed
listing = ok(requests.get(f"{rest}/FileSystem/Folder/{sub}/Content/0/10", headers=auth))
assert [f["Name"] for f in listing["Files"]] == ["q4-final.csv"], listing
refused("a file description", 400, 110, requests.put(
    f"{rest}/FileSystem/File/{file_id}", headers=auth, data={"Description": "x"}))
print("file")

# Search: both kinds, folders only (files null), files only (folders null), paging.
criteria = {"NameCriteria": "Q4", "NameCriteriaMatchAll": "true", "DescriptionCriteria": "",
            "KeywordCriteria": "", "LastModifiedByUsers": "", "DateLastModifiedStart": "",
            "DateLastModifiedEnd": "", "Recursive": "true"}
found = ok(requests.post(f"{rest}/Search/0/10", headers=auth, data=criteria))
assert [f["Name"] for f in found["Folders"]] == ["Q4 final"], found
only = ok(requests.post(f"{rest}/Search/Folders/0/10", headers=auth, data=criteria))
assert only["Files"] is None and len(only["Folders"]) == 1, only
files = ok(requests.post(f"{rest}/Search/Files/0/10", headers=auth,
                         data={"NameCriteria": "final.csv"}))
assert files["Folders"] is None and [f["Name"] for f in files["Files"]] == ["q4-final.csv"], files
paged = ok(requests.post(f"{rest}/Search/Folders/1/1", headers=auth,
                         data={"NameCriteria": "*"}))
assert len(paged["Folders"]) == 1, paged
refused("a description criterion", 400, 110, requests.post(
    f"{rest}/Search/0/10", headers=auth, data={"DescriptionCriteria": "secret"}))
print("search")

# Delete, then close the session.
ok(requests.delete(f"{rest}/FileSystem/File/{file_id}", headers=auth), 204)
refused("a deleted file", 404, 202, requests.get(f"{rest}/FileSystem/File/{file_id}",
                                                 headers=auth))
ok(requests.delete(f"{rest}/FileSystem/Folder/{sub}", headers=auth), 204)
refused("a deleted folder", 404, 201, requests.get(f"{rest}/FileSystem/Folder/{sub}",
                                                   headers=auth))
ok(requests.delete(f"{rest}/Session", headers=auth), 204)
refused("a closed session", 401, 101, requests.get(f"{rest}/Server/Info", headers=auth))
refused("no session", 401, 101, requests.get(f"{rest}/Server/Info", headers=accept))
print("done")
