using UnityEngine;

public class GraphicsSettings : MonoBehaviour
{
    public void Apply(int quality, bool fullscreen, float volume)
    {
        QualitySettings.SetQualityLevel(quality);
        Screen.fullScreen = fullscreen;
        AudioListener.volume = volume;
        PlayerPrefs.SetInt("quality", quality);
        PlayerPrefs.SetInt("fullscreen", fullscreen ? 1 : 0);
        PlayerPrefs.SetFloat("volume", volume);
        PlayerPrefs.Save();
    }

    void Start()
    {
        Apply(PlayerPrefs.GetInt("quality", 2), PlayerPrefs.GetInt("fullscreen", 1) == 1, PlayerPrefs.GetFloat("volume", 0.8f));
    }
}
