#!/usr/bin/env node
// Entry point of the `facility` command. The sources are TypeScript run through tsx's
// loader, so there is no build step to forget and no stale output to run.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
