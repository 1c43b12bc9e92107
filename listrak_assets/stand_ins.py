"""What a missing Listrak setting's message adds: how to run without an account.

The Email API, SMS API and SFTP messages all end with the same sentence, so it lives here,
below the packages that raise them.
"""

TRY_WITHOUT_ACCOUNT = (
    "To try the pipeline without a Listrak account, unset every LISTRAK_* variable and run "
    "`make demo` (or `make ui`): it publishes to local stand-ins, the Listrak emulator and a "
    "sandbox SFTP server."
)

TRUST_HOST_KEY = (
    "Trust the server's host key as well: its SHA256 fingerprint in sftp.host_key_fingerprint "
    "in listrak.yaml, or a known_hosts file named by LISTRAK_SFTP_KNOWN_HOSTS "
    "(`ssh-keyscan HOST >> FILE`, then compare `ssh-keygen -lf FILE` with what Listrak gives "
    "you)."
)
