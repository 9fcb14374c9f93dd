#!/usr/bin/env node
// `npx qunfa …`: the operator's CLI. TypeScript is loaded through tsx, the
// same way `npm start` runs, so no build step stands between a change and it.
import { register } from 'tsx/esm/api';

register();
await import('../cli/qunfa.ts');
