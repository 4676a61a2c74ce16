#!/bin/sh
# SSH_ASKPASS for OpenSSH: answers its password prompt and the server's passcode prompt
# from the environment (TEST_PASSWORD, TEST_PASSCODE), and logs each prompt.
echo "$1" >> "$TEST_PROMPTS"
case "$1" in
  *asscode*) echo "$TEST_PASSCODE" ;;
  *) echo "$TEST_PASSWORD" ;;
esac
