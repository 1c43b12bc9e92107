"""Local stand-ins for Listrak, for the tests and the demo; a production run never imports them.

`emulator` serves Listrak's REST APIs on 127.0.0.1: `email_backend` (its state in
`email_state`, list imports in `email_imports`) and `sms_backend`, both built on `api` (the
envelope, errors, paging and routing they share). `sftp_server` serves a folder over SFTP.
`launcher` runs either one around a command or until Ctrl-C.
"""
