/** @aque/cli: the `aque` command line. */
export {}
