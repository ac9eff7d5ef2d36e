// Every workflow the workers register. Deterministic code only: no I/O, no clocks, no randomness.
export { ingestFile } from './ingest-file.js';
