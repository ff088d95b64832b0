// Schema-checked configuration: file + ALTO_* environment + flags.
export * from './loader.js';
export * from './sections.js';
