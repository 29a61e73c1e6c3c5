// After the build: no emitted .d.ts may import a peer dependency, so users without that peer still
// type-check (botwire describes the client methods it calls with its own structural types).
import { readdirSync, readFileSync } from 'node:fs';

const peers = ['ioredis', 'pg', '@electric-sql/pglite', '@supabase/supabase-js', 'ws'];
const bad = [];
for (const f of readdirSync('dist').filter((f) => /\.d\.c?ts$/.test(f))) {
  // Examples inside TSDoc comments may import drivers; only real import statements count.
  const text = readFileSync(`dist/${f}`, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
    if (peers.some((p) => m[1] === p || m[1].startsWith(`${p}/`))) bad.push(`${f} imports ${m[1]}`);
  }
}
if (bad.length) { console.error(`declaration files import peers:\n${bad.join('\n')}`); process.exit(1); }
console.log('declaration files import no driver peers');
