<?php
// The session scenario of the spec over Ferry's SOAP wire, with PHP's own SoapClient built from
// Ferry's WSDL, as a PHP integration of Thru's service would be.
//
// Usage: php soapclient_session.php BASE APP ADMIN ADMIN_PASSWORD USER PASSWORD USER_ID VERSION
// VERSION is 11 or 12. Prints one line per check; exits non-zero on the first failure.

[$_, $base, $app, $admin, $adminPw, $user, $pw, $userId, $version] = $argv;
$app = (int)$app;
$userId = (int)$userId;

$client = new SoapClient("$base/soap?wsdl", [
    'soap_version' => $version === '12' ? SOAP_1_2 : SOAP_1_1,
    'exceptions' => true,
    'cache_wsdl' => WSDL_CACHE_NONE,
    'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
]);

function fail(string $why): void {
    fwrite(STDERR, "FAILED: $why\n");
    exit(1);
}

function check(bool $ok, string $why): void {
    if (!$ok) {
        fail($why);
    }
}

function refused(string $what, int $code, callable $call): void {
    try {
        $call();
    } catch (SoapFault $f) {
        $got = (int)$f->detail->ErrorCode;
        check($got === $code, "$what: error $got, not $code ({$f->getMessage()})");
        echo "refused $what: $code\n";
        return;
    }
    fail("$what was not refused");
}

$open = fn(string $method, string $u, string $p) => $client->$method(
    ['userName' => $u, 'password' => $p, 'applicationID' => $app, 'clientVersion' => 'php']
)->{$method . 'Result'};
$me = fn(string $sid) => $client->GetCurrentUser(['sessionID' => $sid])->GetCurrentUserResult;

// Open replaces the user's previous session for the same application.
$first = $open('Open', $user, $pw);
$second = $open('Open', $user, $pw);
check((int)$second->UserID === $userId, 'Open answers the user');
refused('a replaced session', 101, fn() => $me($first->SessionID));
check($me($second->SessionID)->Name === $user, 'the new session works');
echo "Open replaces\n";

// OpenImmutable does not.
$one = $open('OpenImmutable', $user, $pw);
$two = $open('OpenImmutable', $user, $pw);
foreach ([$one, $two, $second] as $s) {
    check((int)$me($s->SessionID)->UserID === $userId, 'immutable sessions live side by side');
}
echo "OpenImmutable does not replace\n";
refused('a wrong password', 102, fn() => $open('Open', $user, 'wrong'));

// Impersonation by the administrator, and a user string.
$boss = $open('OpenImmutable', $admin, $adminPw);
$imp = $client->OpenImmutableImpersonate([
    'serviceSessionId' => $boss->SessionID, 'userID' => $userId,
    'applicationID' => $app, 'ipAddress' => '10.1.2.3',
])->OpenImmutableImpersonateResult;
check($me($imp->SessionID)->Name === $user, 'the impersonated session is the user');
$tagged = $client->OpenImmutableUserString([
    'serviceSessionId' => $boss->SessionID, 'userID' => $userId,
    'applicationID' => $app, 'ipAddress' => '10.1.2.3', 'userString' => 'php-job-9',
])->OpenImmutableUserStringResult;
check((int)$tagged->UserID === $userId, 'a user string session');
echo "impersonation and user string\n";

// A folder tree.
$home = $client->GetHomeFolder(['sessionID' => $two->SessionID])->GetHomeFolderResult;
$inbox = $client->CreateFolder([
    'sessionID' => $two->SessionID, 'parentFolderID' => $home->FolderID, 'name' => 'Inbox <php>',
])->CreateFolderResult;
check($inbox->Name === 'Inbox <php>', 'a name with markup comes back as sent');
$sub = $client->GetFolders(['sessionID' => $two->SessionID, 'folderID' => $home->FolderID])
    ->GetFoldersResult->FTHFolderData;
check(in_array('Inbox <php>', array_map(fn($f) => $f->Name, $sub), true), 'the folder is listed');
echo "folder tree\n";

// Folder metadata (SARG 2.4.2) and file metadata (2.4.4), each call answering its structure.
$sid = $two->SessionID;
$made = $client->CreateFolderMetadata([
    'sessionID' => $sid, 'folderID' => $inbox->FolderID, 'name' => 'Customer', 'data' => 'ACME & Co',
])->CreateFolderMetadataResult;
check((int)$made->FolderMetadataID > 0 && (int)$made->FolderID === (int)$inbox->FolderID, 'a folder item');
$client->SaveFolderMetadata([
    'sessionID' => $sid, 'folderID' => $inbox->FolderID, 'name' => 'Description', 'data' => 'Mail <in>',
]);
$items = $client->GetFolderMetadata(['sessionID' => $sid, 'folderID' => $inbox->FolderID])
    ->GetFolderMetadataResult->FolderMetadataResult;
check(array_map(fn($i) => [$i->Name, $i->Data], $items) === [['Description', 'Mail <in>'], ['Customer', 'ACME & Co']],
    'the folder items, Description first');
refused('saving a metadata item never created', 208, fn() => $client->SaveFolderMetadata([
    'sessionID' => $sid, 'folderID' => $inbox->FolderID, 'name' => 'Region', 'data' => 'EU',
]));
$put = stream_context_create(['http' => [
    'method' => 'PUT', 'header' => "X-Session-ID: $sid\r\nContent-Type: application/octet-stream",
    'content' => "a,b\n", 'ignore_errors' => false,
]]);
$uploaded = json_decode(file_get_contents("$base/api/v1/folders/{$inbox->FolderID}/files/q1.csv", false, $put));
$fileId = (int)$uploaded->FileID;
$batch = $client->CreateFileMetadata([
    'sessionID' => $sid, 'fileID' => $fileId, 'name' => 'Batch', 'data' => '7',
])->CreateFileMetadataResult;
check((int)$batch->FileID === $fileId && (int)$batch->FileMetadataID > 0, 'a file item');
$client->SaveFileMetadata(['sessionID' => $sid, 'fileID' => $fileId, 'name' => 'batch', 'data' => '8']);
$got = $client->GetFileMetadata(['sessionID' => $sid, 'fileID' => $fileId])
    ->GetFileMetadataResult->FTHFileMetadataItemData;
check(count($got) === 1 && $got[0]->Name === 'batch' && $got[0]->Data === '8', 'the file item, saved');
echo "metadata\n";

// A permission list on a shared folder.
$root = $client->GetRootFolder(['sessionID' => $boss->SessionID])->GetRootFolderResult;
$top = $client->GetFolders(['sessionID' => $boss->SessionID, 'folderID' => $root->FolderID])
    ->GetFoldersResult->FTHFolderData;
$shared = array_values(array_filter($top, fn($f) => $f->Name === 'Shared'))[0];
$desk = $client->CreateFolder([
    'sessionID' => $boss->SessionID, 'parentFolderID' => $shared->FolderID, 'name' => "Desk $version",
])->CreateFolderResult;
$client->SetFolderPermissionList([
    'sessionID' => $boss->SessionID, 'folderID' => $desk->FolderID,
    'permissionList' => ['FTHPermissionListItemData' => [
        ['Permission' => 3, 'UserID' => $userId, 'UserGroupID' => -1],
    ]],
    'inheritPermissions' => false,
]);
$list = $client->GetFolderPermissionList(['sessionID' => $boss->SessionID, 'folderID' => $desk->FolderID])
    ->GetFolderPermissionListResult->FTHPermissionListItemData;
$mine = array_values(array_filter($list, fn($p) => (int)$p->UserID === $userId));
check(count($mine) === 1 && (int)$mine[0]->Permission === 3, 'the permission list holds the grant');
echo "permission list\n";

// Search, paged.
$found = $client->Search([
    'sessionID' => $two->SessionID, 'searchString' => 'Inbox', 'skip' => 0, 'take' => 5,
])->SearchResult;
check(array_map(fn($f) => $f->Name, $found->Folders->FTHFolderData) === ['Inbox <php>'], 'search finds the folder');
echo "search\n";

// The server's settings (SARG 2.2), the same for the data center.
$settings = $client->GetServerSettings(['sessionID' => $two->SessionID])->GetServerSettingsResult;
check($settings->ServerName === 'Ferry' && (int)$settings->MinPasswordLength === 8, 'the server settings');
$center = $client->GetDataCenterSettings(['sessionID' => $two->SessionID])->GetDataCenterSettingsResult;
check((int)$center->ImmutableSessionHours === 48, 'the data center settings');
echo "settings\n";

// Close, then the session is gone.
$client->Close(['sessionID' => $second->SessionID]);
refused('a closed session', 101, fn() => $me($second->SessionID));
echo "done\n";
