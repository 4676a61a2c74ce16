"""Remove-if-empty as the file protocols' clients use it (paramiko's SFTP `rmdir`): it never
removes what is below the folder, whether the caller may see it or it arrived a moment before.

Usage: remove_if_empty.py SFTP_PORT USER PASSWORD ROUNDS
In the user's start folder, `Box` holds a folder the user may not see: its removal must be
refused. Then ROUNDS times, one client finishes an upload into a new folder while another
removes the folder; the test reads from the audit trail which one won.
Prints one line per check; exits non-zero on the first failure.
"""
import sys
import threading

import paramiko

sftp_port, user, password, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


def client():
    transport = paramiko.Transport(("127.0.0.1", sftp_port))
    transport.connect(username=user, password=password)
    return paramiko.SFTPClient.from_transport(transport)


a, b = client(), client()
assert a.listdir("Box") == [], a.listdir("Box")
try:
    a.rmdir("Box")
except IOError as e:
    print(f"refused: removing a folder with a hidden folder below: {e}")
else:
    raise SystemExit("a folder with something hidden below was removed")

removed = 0
for i in range(rounds):
    folder = f"r{i}"
    a.mkdir(folder)
    start = threading.Barrier(2)
    outcome = {}

    # The upload's bytes are in; its CLOSE, which records it, races the removal. (paramiko
    # does not report a refused CLOSE: the server's audit trail tells which one won.)
    upload = a.open(f"{folder}/f.txt", "w")
    upload.write(b"acknowledged")

    def finish_upload():
        start.wait()
        upload.close()

    def remove():
        start.wait()
        try:
            b.rmdir(folder)
            outcome["rmdir"] = "done"
        except IOError as e:
            outcome["rmdir"] = f"refused: {e}"

    threads = [threading.Thread(target=finish_upload), threading.Thread(target=remove)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    removed += outcome["rmdir"] == "done"
print(f"raced {rounds} rounds: {removed} removals done")
