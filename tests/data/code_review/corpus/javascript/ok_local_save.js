// Save slots in localStorage; the save string is base64 so players can copy it.
const KEY = "tinyfarm.save";

export function save(state) {
  const json = JSON.stringify(state);
  localStorage.setItem(KEY, btoa(unescape(encodeURIComponent(json))));
}

export function load() {
  const raw = localStorage.getItem(KEY);
  if (!raw) return { day: 1, coins: 0, crops: [] };
  try {
    return JSON.parse(decodeURIComponent(escape(atob(raw))));
  } catch (e) {
    console.warn("corrupt save, starting over", e);
    return { day: 1, coins: 0, crops: [] };
  }
}
