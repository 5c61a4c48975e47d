// Browser game: fetch and post scores to the studio's leaderboard API.
const API = "https://leaderboard.example-games.com/v1/scores";

export async function submitScore(player, score) {
  const res = await fetch(API, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ player, score }),
  });
  if (!res.ok) throw new Error(`score rejected: ${res.status}`);
  return res.json();
}

export async function topScores(limit = 10) {
  const res = await fetch(`${API}?limit=${limit}`);
  return (await res.json()).scores;
}
