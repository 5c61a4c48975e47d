// Loads plugin modules listed in mods.json from the game's own mods folder.
export interface GameMod {
  name: string;
  init(api: unknown): void;
}

export async function loadMods(api: unknown): Promise<GameMod[]> {
  const list: string[] = await (await fetch("./mods/mods.json")).json();
  const mods: GameMod[] = [];
  for (const name of list) {
    if (!/^[a-z0-9-]+$/.test(name)) continue;
    const mod = (await import(`./mods/${name}/index.js`)).default as GameMod;
    mod.init(api);
    mods.push(mod);
  }
  return mods;
}
