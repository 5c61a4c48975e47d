// Agora's own YARA rules. The GuardDog rules beside this folder cover Python and
// JavaScript packages; these cover what a game-asset marketplace receives besides:
// Lua, GDScript, C# and shell scripts, and the EICAR test file (so a scan with
// ClamAV absent still recognises the standard test payload).

rule agora_eicar_test_file
{
    meta:
        author = "Agora"
        description = "EICAR anti-virus test file (the 68-byte standard string at offset 0)"
        severity = "critical"

    strings:
        $eicar = { 58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a }

    condition:
        $eicar at 0 and filesize <= 128
}

rule agora_script_download_exec
{
    meta:
        author = "Agora"
        description = "Script that downloads a remote file or code and executes it"
        severity = "high"
        path_include = "*.lua,*.gd,*.cs,*.sh,*.bash,*.bat,*.cmd,*.ps1"

    strings:
        $lua_exec_fetch = /(os\.execute|io\.popen)\s*\(\s*["'\[][^\n]{0,200}\b(curl|wget|Invoke-WebRequest)\b/ nocase
        $lua_load_http = /(loadstring|load)\s*\(\s*(game:HttpGet|http\.request|socket\.http)/ nocase
        $gd_exec_fetch = /OS\.(execute|create_process)\s*\(\s*["'](curl|wget|powershell|cmd)/ nocase
        $cs_download = /\.DownloadFile(Async)?\s*\(/
        $cs_download_data = /\.DownloadData(Async)?\s*\(/
        $cs_start = /Process\.Start\s*\(/
        $cs_assembly_load = /Assembly\.Load\s*\(/
        $sh_pipe = /\b(curl|wget)\s[^\n|;]{0,200}\|\s*(sudo\s+)?(ba|z|da)?sh\b/
        $sh_fetch_run = /\b(curl|wget)\s[^\n]{0,200}(-o|-O)\s*\S+\s*(&&|;)\s*(chmod\s+\+x|\.\/|sh\s|bash\s)/
        $ps_iex = /(IEX|Invoke-Expression)\s*[\(]?\s*[\(]?\s*New-Object\s+(System\.)?Net\.WebClient/ nocase

    condition:
        $lua_exec_fetch or $lua_load_http or $gd_exec_fetch or $sh_pipe or $sh_fetch_run
        or $ps_iex or ($cs_download and $cs_start) or ($cs_download_data and $cs_assembly_load)
}
