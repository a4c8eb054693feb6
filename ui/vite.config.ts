import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The FastAPI backend serves dist/ at "/" and the JSON API under /api.
export default defineConfig({
  base: "/",
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
  },
});
