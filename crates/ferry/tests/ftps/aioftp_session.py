"""Uploads and downloads through Ferry's FTPS with aioftp, which finishes the data
connection's TLS handshake before it sends STOR or RETR (issue 16).

Usage: aioftp_session.py HOST PORT USER PASSWORD
Prints one line per check; exits non-zero on the first failure.
"""
import asyncio
import hashlib
import os
import ssl
import sys

import aioftp

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE


async def main():
    data = os.urandom(2 * 1024 * 1024 + 5)
    digest = hashlib.sha256(data).hexdigest()
    client = aioftp.Client(socket_timeout=20, connection_timeout=20)
    await client.connect(host, port)
    await client.upgrade_to_tls(context)
    await client.login(user, password)
    print("signed in, in", await client.get_current_directory())
    async with client.upload_stream("aioftp.bin") as stream:
        await stream.write(data)
    print("uploaded")
    got = bytearray()
    async with client.download_stream("aioftp.bin") as stream:
        async for block in stream.iter_by_block():
            got.extend(block)
    assert hashlib.sha256(got).hexdigest() == digest, "downloaded bytes differ"
    names = [str(path) for path, _ in await client.list()]
    assert "aioftp.bin" in names, names
    print(f"aioftp round trip {digest}")
    await client.quit()


asyncio.run(asyncio.wait_for(main(), 120))
