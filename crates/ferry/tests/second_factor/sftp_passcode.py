"""SFTP sign-in with two-step sign-in through paramiko's keyboard-interactive: the server
asks for the password, then for the passcode. Usage: sftp_passcode.py PORT USER PASSWORD
PASSCODE. Prints the prompts seen, then the listing of the start folder or "refused"."""

import sys

import paramiko

port, user, password, passcode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
t = paramiko.Transport(("127.0.0.1", port))
t.start_client(timeout=20)
prompts_seen = []


def handler(title, instructions, prompts):
    answers = []
    for text, _echo in prompts:
        prompts_seen.append(text)
        answers.append(password if "Password" in text else passcode)
    return answers


try:
    t.auth_interactive(user, handler)
except paramiko.AuthenticationException as e:
    print("prompts:", "|".join(prompts_seen))
    print("refused", e)
    sys.exit(0)
print("prompts:", "|".join(prompts_seen))
sftp = paramiko.SFTPClient.from_transport(t)
print("listing:", sorted(sftp.listdir(".")))
t.close()
