"""Prints the passcode an authenticator app would show, computed by pyotp (an implementation
nobody on the team wrote). Usage: passcode.py SECRET [STEPS]: STEPS (default 0) moves the time
by that many 30-second steps. Waits out the last two seconds of a step first, so that the
code is still current when the server reads it."""

import sys
import time

import pyotp

secret = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 0
while 28 <= time.time() % 30:
    time.sleep(0.1)
print(pyotp.TOTP(secret).at(time.time() + 30 * steps))
