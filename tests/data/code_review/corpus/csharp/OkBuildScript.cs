using System.Diagnostics;
using UnityEditor;
using UnityEditor.Build.Reporting;

public static class BuildScript
{
    [MenuItem("Build/Windows Release")]
    public static void BuildWindows()
    {
        string version = GitDescribe();
        PlayerSettings.bundleVersion = version;
        var options = new BuildPlayerOptions
        {
            scenes = new[] { "Assets/Scenes/Main.unity" },
            locationPathName = $"Builds/Windows/{version}/Game.exe",
            target = BuildTarget.StandaloneWindows64,
        };
        BuildReport report = BuildPipeline.BuildPlayer(options);
        UnityEngine.Debug.Log($"build {report.summary.result} ({version})");
    }

    static string GitDescribe()
    {
        var psi = new ProcessStartInfo("git", "describe --tags --always")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        using var p = Process.Start(psi);
        string output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return output;
    }
}
