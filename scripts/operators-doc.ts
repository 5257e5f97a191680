// Writes docs/operators.md from lib/operators.ts. Usage: node dist/scripts/operators-doc.js
import { writeFileSync } from 'node:fs';
import { operatorsMarkdown } from '../lib/operators.js';

writeFileSync('docs/operators.md', operatorsMarkdown());
console.log('wrote docs/operators.md');
