// Vite build of the Tweeling viewer. `npm run build` writes viewer/dist, served by the API at /viewer/.
// `npm run dev` serves the sources with the API proxied to TWEELING_API (default http://127.0.0.1:8000).
import { defineConfig } from 'vite';

declare const process: { env: Record<string, string | undefined> };

const api = process.env.TWEELING_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/viewer/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1600,
    reportCompressedSize: true,
  },
  worker: { format: 'es' },
  server: {
    port: 5173,
    proxy: {
      // '/v1' also covers the SensorThings root '/v1.1'.
      '/v1': { target: api, changeOrigin: false },
    },
  },
});
