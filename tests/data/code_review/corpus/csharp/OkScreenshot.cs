using System;
using System.IO;
using UnityEngine;

public class PhotoMode : MonoBehaviour
{
    void Update()
    {
        if (!Input.GetKeyDown(KeyCode.F12)) return;
        string dir = Path.Combine(Application.persistentDataPath, "Screenshots");
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, $"shot_{DateTime.Now:yyyyMMdd_HHmmss}.png");
        ScreenCapture.CaptureScreenshot(file);
        Debug.Log("saved " + file);
        Application.OpenURL("file://" + dir);
    }
}
