using System;
using System.IO;
using System.Linq;
using System.Reflection;
using UnityEngine;

public interface IMod { void OnLoad(); }

public class ModLoader : MonoBehaviour
{
    void Start()
    {
        string modsDir = Path.Combine(Application.persistentDataPath, "Mods");
        if (!Directory.Exists(modsDir)) return;
        foreach (string dll in Directory.GetFiles(modsDir, "*.dll"))
        {
            try
            {
                Assembly asm = Assembly.LoadFrom(dll);
                foreach (Type t in asm.GetTypes().Where(t => typeof(IMod).IsAssignableFrom(t) && !t.IsAbstract))
                    ((IMod)Activator.CreateInstance(t)).OnLoad();
            }
            catch (Exception e)
            {
                Debug.LogError($"mod {Path.GetFileName(dll)} failed: {e.Message}");
            }
        }
    }
}
