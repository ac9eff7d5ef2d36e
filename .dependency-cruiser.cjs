/**
 * The direction of dependencies in src/, checked by `make lint` (docs/ARCHITECTURE.md draws it):
 *
 *   cli ──▶ processes (bridge, subscriber, api, workers) ──▶ activities, providers ──▶ domain
 *            └──▶ shared infrastructure (events, temporal, clients, db, config, telemetry) ──▶ domain
 *
 * Workflows are deterministic code bundled for Temporal's sandbox: they see domain types and logic and
 * the *types* of activities, nothing that does I/O. The local stack of servers is a development tool:
 * only the CLI (and tests) may start it.
 */
const PROCESSES = '^src/(bridge|subscriber|api|workers)/';
const INFRASTRUCTURE = '^src/(events|temporal|clients|db|config|telemetry)/';
/**
 * The tokenizer (cl100k_base: megabytes of tables) and our domain modules that load it at run time. A
 * domain module that imports one of these at run time must be listed here too (tokenizer-users-listed),
 * so that workflows-no-tokenizer, which checks direct imports, also covers what workflows reach through
 * src/domain. (depcruise's `reachable` cannot be used: it follows type-only imports, through which every
 * workflow reaches the activities and so the tokenizer, though none of it is bundled.)
 */
const TOKENIZER_USERS = '^src/domain/(chunking|chunking-tokens|insight/dream-input)[.]ts$';
const TOKENIZER = `(^|/)gpt-tokenizer(/|$)|${TOKENIZER_USERS}`;

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain holds pure types and rules: it imports nothing of ours outside src/domain.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'domain-without-io',
      comment:
        'src/domain is pure: no node built-ins (file system, network, processes). Hashing is allowed: ' +
        'deterministic ids are pure functions of their input.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'workflows-deterministic',
      comment:
        'Workflows import domain code and, as types only, activities and typed names; never I/O modules.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: '^src/', pathNot: '^src/(domain|workflows)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-no-node',
      comment: 'Workflow code runs in a sandbox without node built-ins.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'workflows-no-tokenizer',
      comment:
        'The workflow bundle stays small and quick to load: workflows never load the tokenizer, directly or ' +
        'through a domain module that does (TOKENIZER). Counting tokens is work for an activity.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: { path: TOKENIZER, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'tokenizer-users-listed',
      comment:
        'A domain module that loads the tokenizer (or a module that does) is listed in TOKENIZER_USERS, so ' +
        'workflows-no-tokenizer keeps it out of workflows.',
      severity: 'error',
      from: { path: '^src/domain/', pathNot: TOKENIZER_USERS },
      to: { path: TOKENIZER, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'processes-not-activities',
      comment: 'The bridge and the subscriber only route events: they never run activities or workers.',
      severity: 'error',
      from: { path: '^src/(bridge|subscriber)/' },
      to: { path: '^src/(activities|workers|providers)/' },
    },
    {
      name: 'stack-only-from-cli',
      comment: 'The local stack of servers is a development tool: only the CLI (and tests) start it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|stack)/' },
      to: { path: '^src/stack/' },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'The CLI is the top: processes and libraries never import it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'cli-commands-independent',
      comment:
        'A CLI command never imports another command: what two commands share lives in src/cli/*.ts, so a ' +
        'command can be changed, moved or loaded lazily on its own.',
      severity: 'error',
      from: { path: '^src/cli/commands/' },
      to: { path: '^src/cli/commands/' },
    },
    {
      name: 'processes-are-peers',
      comment: 'Processes share code through events/, temporal/, clients/ …, not by importing each other.',
      severity: 'error',
      from: { path: '^src/(bridge|subscriber|api)/' },
      to: { path: PROCESSES, pathNot: '^src/$1/' },
    },
    {
      name: 'steps-below-processes',
      comment: 'Activities, providers and workflows are used by processes, never the other way round.',
      severity: 'error',
      from: { path: '^src/(activities|providers|workflows)/' },
      to: { path: PROCESSES },
    },
    {
      name: 'infrastructure-below-steps',
      comment: 'Shared infrastructure serves activities and processes; it never reaches up into them.',
      severity: 'error',
      from: { path: INFRASTRUCTURE },
      to: { path: '^src/(activities|providers|bridge|subscriber|api|workers)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make start-up order and bundling fragile.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
