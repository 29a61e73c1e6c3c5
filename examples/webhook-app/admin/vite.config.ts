/**
 * Builds the admin panel into `admin/dist` (served by server.ts at `/admin/`).
 *
 *   npx vite build --config examples/webhook-app/admin/vite.config.ts
 *
 * Inside the botwire repository, `botwire/*` imports resolve to the sources (as in the tests); in a
 * copy of this example they resolve to the installed package.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repoSrc = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const inRepo = existsSync(repoSrc('integrations/react/index.ts'));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  logLevel: 'warn',
  resolve: {
    alias: inRepo
      ? [
        { find: /^botwire\/react$/, replacement: repoSrc('integrations/react/index.ts') },
        { find: /^botwire\/client$/, replacement: repoSrc('integrations/client/index.ts') },
      ]
      : [],
  },
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true },
});
