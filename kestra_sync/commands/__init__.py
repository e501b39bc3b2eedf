"""One module per command. Each parses its options, calls the library, renders the result
and maps errors to exit codes; the group and the error boundary live in kestra_sync.cli.
``scaffold`` is init's own library: what it detects in a repository and the files it writes,
reading every earlier stage."""
