#!/usr/bin/env node
// Builds the game bundle and copies the assets into dist/.
const { execSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = __dirname;
const dist = path.join(root, "dist");

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
execSync("npx tsc -p tsconfig.json", { stdio: "inherit", cwd: root });
execSync("npx esbuild src/main.ts --bundle --minify --outfile=dist/game.js", { stdio: "inherit", cwd: root });
fs.cpSync(path.join(root, "assets"), path.join(dist, "assets"), { recursive: true });
console.log("built", fs.readdirSync(dist).length, "entries");
