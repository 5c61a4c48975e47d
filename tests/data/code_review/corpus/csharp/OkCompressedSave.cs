using System;
using System.IO;
using System.IO.Compression;
using System.Text;
using UnityEngine;

public static class CompactSave
{
    public static string Encode(string json)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal))
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            gz.Write(bytes, 0, bytes.Length);
        }
        return Convert.ToBase64String(output.ToArray());
    }

    public static string Decode(string code)
    {
        using var input = new GZipStream(new MemoryStream(Convert.FromBase64String(code)), CompressionMode.Decompress);
        using var reader = new StreamReader(input, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    public static void CopyToClipboard(string json) => GUIUtility.systemCopyBuffer = Encode(json);
}
