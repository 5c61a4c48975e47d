using System.Collections;
using UnityEngine;
using UnityEngine.Networking;

public class Leaderboard : MonoBehaviour
{
    const string Api = "https://leaderboard.example-games.com/v1/scores";

    [System.Serializable] class Entry { public string player; public int score; }

    public IEnumerator Submit(string player, int score)
    {
        string body = JsonUtility.ToJson(new Entry { player = player, score = score });
        using var req = new UnityWebRequest(Api, "POST");
        req.uploadHandler = new UploadHandlerRaw(System.Text.Encoding.UTF8.GetBytes(body));
        req.downloadHandler = new DownloadHandlerBuffer();
        req.SetRequestHeader("Content-Type", "application/json");
        yield return req.SendWebRequest();
        if (req.result != UnityWebRequest.Result.Success)
            Debug.LogWarning("score not submitted: " + req.error);
    }
}
