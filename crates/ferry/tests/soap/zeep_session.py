"""The session scenario of the spec over Ferry's SOAP wire, with zeep: a client generated at
run time from Ferry's WSDL, as an integrator's would be.

Usage: zeep_session.py BASE APP ADMIN ADMIN_PASSWORD USER PASSWORD USER_ID BINDING
BINDING is "soap11" or "soap12". Prints one line per check; exits non-zero on the first failure.
"""
import datetime
import sys

import requests
import zeep
from zeep.exceptions import Fault

base, app, admin, admin_pw, user, pw, user_id, binding = sys.argv[1:9]
app, user_id = int(app), int(user_id)

client = zeep.Client(f"{base}/soap?wsdl")
port = "FerryServiceSoap12" if binding == "soap12" else "FerryServiceSoap"
svc = client.bind("FerryService", port)


def code_of(fault):
    """Ferry's error code from a fault's detail."""
    return int(fault.detail.find("ErrorCode").text)


def refused(what, code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Fault as f:
        assert code_of(f) == code, f"{what}: error {code_of(f)}, not {code} ({f.message})"
        print(f"refused {what}: {code}")
        return
    raise SystemExit(f"{what} was not refused")


# Open replaces the user's previous session for the same application.
first = svc.Open(userName=user, password=pw, applicationID=app, clientVersion="zeep")
second = svc.Open(userName=user, password=pw, applicationID=app, clientVersion="zeep")
assert second.UserID == user_id, second
refused("a replaced session", 101, svc.GetCurrentUser, sessionID=first.SessionID)
me = svc.GetCurrentUser(sessionID=second.SessionID)
assert me.Name == user and me.UserID == user_id, me
print("Open replaces")

# OpenImmutable does not.
one = svc.OpenImmutable(userName=user, password=pw, applicationID=app, clientVersion="zeep")
two = svc.OpenImmutable(userName=user, password=pw, applicationID=app, clientVersion="zeep")
for s in (one, two, second):
    assert svc.GetCurrentUser(sessionID=s.SessionID).UserID == user_id
print("OpenImmutable does not replace")

refused("a wrong password", 102, svc.Open, userName=user, password="wrong", applicationID=app)
refused("an unregistered application", 104, svc.Open, userName=user, password=pw,
        applicationID=4242)

# Impersonation by the administrator, and a user string.
boss = svc.OpenImmutable(userName=admin, password=admin_pw, applicationID=app)
imp = svc.OpenImmutableImpersonate(serviceSessionId=boss.SessionID, userID=user_id,
                                   applicationID=app, ipAddress="10.1.2.3")
assert svc.GetCurrentUser(sessionID=imp.SessionID).Name == user
tagged = svc.OpenImmutableUserString(serviceSessionId=boss.SessionID, userID=user_id,
                                     applicationID=app, ipAddress="10.1.2.3",
                                     userString="zeep-job-7")
assert tagged.UserID == user_id
refused("impersonation by a member", 105, svc.OpenImmutableImpersonate,
        serviceSessionId=two.SessionID, userID=user_id, applicationID=app, ipAddress="10.1.2.3")
print("impersonation and user string")

# A folder tree in the user's home.
home = svc.GetHomeFolder(sessionID=two.SessionID)
reports = svc.CreateFolder(sessionID=two.SessionID, parentFolderID=home.FolderID,
                           name="Reports", folderType=0)
q1 = svc.CreateFolder(sessionID=two.SessionID, parentFolderID=reports.FolderID, name="Q1 & Q2")
assert q1.Name == "Q1 & Q2" and q1.ParentFolderID == reports.FolderID, q1
names = [f.Name for f in svc.GetFolders(sessionID=two.SessionID, folderID=reports.FolderID)]
assert names == ["Q1 & Q2"], names
renamed = svc.RenameFolder(sessionID=two.SessionID, folderID=q1.FolderID, name="Quarter 1")
assert renamed.Name == "Quarter 1", renamed
refused("a folder that does not exist", 201, svc.GetFolder, sessionID=two.SessionID,
        folderID=987654)
refused("a name with a slash", 110, svc.CreateFolder, sessionID=two.SessionID,
        parentFolderID=home.FolderID, name="a/b")
print("folder tree")

# Folder metadata (SARG 2.4.2) and file metadata (2.4.4), each call answering its structure.
sid = two.SessionID
made = svc.CreateFolderMetadata(sessionID=sid, folderID=reports.FolderID, name="Customer",
                                data="ACME & Co")
assert made.FolderMetadataID > 0 and made.FolderID == reports.FolderID, made
assert made.Data == "ACME & Co" and made.DataType == 0, made
svc.SaveFolderMetadata(sessionID=sid, folderID=reports.FolderID, name="Description",
                       data="Quarterly <reports>")
items = svc.GetFolderMetadata(sessionID=sid, folderID=reports.FolderID)
assert [(i.Name, i.Data) for i in items] == [("Description", "Quarterly <reports>"),
                                              ("Customer", "ACME & Co")], items
assert items[0].FolderMetadataID == 0 and items[1].FolderMetadataID == made.FolderMetadataID
assert svc.GetFolder(sessionID=sid, folderID=reports.FolderID).Description == "Quarterly <reports>"
refused("saving a metadata item never created", 208, svc.SaveFolderMetadata, sessionID=sid,
        folderID=reports.FolderID, name="Region", data="EU")
put = requests.put(f"{base}/api/v1/folders/{reports.FolderID}/files/q1.csv", data=b"a,b\n",
                   headers={"X-Session-ID": str(sid)}, timeout=30)
put.raise_for_status()
file_id = put.json()["FileID"]
batch = svc.CreateFileMetadata(sessionID=sid, fileID=file_id, name="Batch", data="7")
assert batch.FileID == file_id and batch.FileMetadataID > 0 and batch.DataType == 0, batch
again = svc.SaveFileMetadata(sessionID=sid, fileID=file_id, name="batch", data="8")
assert again.FileMetadataID == batch.FileMetadataID, again
assert [(i.Name, i.Data) for i in svc.GetFileMetadata(sessionID=sid, fileID=file_id)] == \
    [("batch", "8")]
refused("file metadata twice", 108, svc.CreateFileMetadata, sessionID=sid, fileID=file_id,
        name="BATCH", data="9")
print("metadata")

# A permission list, set by the administrator on a shared folder.
root = svc.GetRootFolder(sessionID=boss.SessionID)
shared = [f for f in svc.GetFolders(sessionID=boss.SessionID, folderID=root.FolderID)
          if f.Name == "Shared"][0]
team = svc.CreateFolder(sessionID=boss.SessionID, parentFolderID=shared.FolderID, name=f"Team {binding}")
item = client.get_type("ns0:FTHPermissionListItemData")
array = client.get_type("ns0:ArrayOfFTHPermissionListItemData")
items = array(FTHPermissionListItemData=[item(Permission=1 | 2 | 4 | 8, UserID=user_id,
                                               UserGroupID=-1)])
got = svc.SetFolderPermissionList(sessionID=boss.SessionID, folderID=team.FolderID,
                                  permissionList=items, inheritPermissions=False)
listed = svc.GetFolderPermissionList(sessionID=boss.SessionID, folderID=team.FolderID)
mine = [p for p in listed if p.UserID == user_id]
assert len(mine) == 1 and mine[0].Permission == 15, listed
assert svc.GetFolder(sessionID=two.SessionID, folderID=team.FolderID).EffectivePermission == 15
print("permission list")

# Search finds the folder by name, paged.
found = svc.Search(sessionID=two.SessionID, searchString="Quarter", skip=0, take=10)
# Lists inside a structure are ArrayOf… wrappers (as .asmx services write them).
assert [f.Name for f in found.Folders.FTHFolderData] == ["Quarter 1"], found
assert found.Files is None or not found.Files.FTHFileData, found
paging = svc.SearchFolders(sessionID=two.SessionID, searchString="Quarter",
                           requestedStartIndex=0, requestedLength=10)
assert paging.TotalMatchingFolders == 1, paging
assert [f.Name for f in paging.PageFolders.FTHFolderData] == ["Quarter 1"], paging
print("search")

# The audit, filtered by operation and by time (xs:dateTime, with its zone), as the
# administrator: this client's sign-ins are there, with its client version.
since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
records = svc.GetAuditLog(sessionID=boss.SessionID, operation="SignIn", fromTime=since, take=500)
assert any(r.client_version == "zeep" and r.user_id == user_id for r in records), records
refused("the audit for a member", 105, svc.GetAuditLog, sessionID=two.SessionID)
print("audit")

# The server's settings (SARG 2.2), the same for the data center.
settings = svc.GetServerSettings(sessionID=two.SessionID)
assert settings.ServerName == "Ferry" and settings.MinPasswordLength == 8, settings
center = svc.GetDataCenterSettings(sessionID=two.SessionID)
assert center.ImmutableSessionHours == settings.ImmutableSessionHours == 48, center
print("settings")

# Close ends the session: the next call answers 101.
assert svc.Close(sessionID=second.SessionID) is None
refused("a closed session", 101, svc.GetCurrentUser, sessionID=second.SessionID)
refused("a session ID that is not a GUID", 110, svc.GetCurrentUser, sessionID="not-a-guid")
print("done")
