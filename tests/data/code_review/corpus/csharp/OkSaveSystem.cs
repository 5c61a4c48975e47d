using System.IO;
using UnityEngine;

[System.Serializable]
public class SaveData { public int level; public float[] position; public string[] inventory; }

public static class SaveSystem
{
    static string PathFor(int slot) => Path.Combine(Application.persistentDataPath, $"slot{slot}.json");

    public static void Save(int slot, SaveData data)
    {
        string json = JsonUtility.ToJson(data, true);
        string tmp = PathFor(slot) + ".tmp";
        File.WriteAllText(tmp, json);
        if (File.Exists(PathFor(slot))) File.Delete(PathFor(slot));
        File.Move(tmp, PathFor(slot));
    }

    public static SaveData Load(int slot)
    {
        string p = PathFor(slot);
        return File.Exists(p) ? JsonUtility.FromJson<SaveData>(File.ReadAllText(p)) : new SaveData();
    }
}
