/** The ImageFolder rules live in src/io/image-folder.ts, shared with the command line. */
export * from '../../io/image-folder';
