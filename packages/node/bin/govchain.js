#!/usr/bin/env node
// The govchain command. It runs the TypeScript sources through tsx's loader, so a fresh clone
// works after `npm install` with no separate build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
