using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using ImageGateway.Providers;
using Microsoft.Win32.SafeHandles;

namespace ImageGateway.Storage;

/// <summary>
/// Writes an image file with <c>O_DIRECT</c> on Linux: from a small aligned buffer straight to the
/// disk, past the page cache, its base64 decoded into that buffer slice by slice. An image file is
/// written once and read a few times at most; through the page cache, every write had the kernel
/// find and fill 2 MB of fresh pages, which cost more CPU than the rest of a <c>url</c> request
/// together (BENCHMARKS.md, optimisation 15), and pushed the database's pages out of the cache.
/// Where the file system refuses <c>O_DIRECT</c> (tmpfs, some overlays) or the OS has none, the
/// store writes as before. Reads stay ordinary.
/// </summary>
public static class DirectFile
{
    /// <summary>Decoded bytes per write: a multiple of 3 (whole base64 quads) and of 4096 (the alignment O_DIRECT needs).</summary>
    private const int Slice = 3 * 64 * 1024;
    private const int Alignment = 4096;
    private const int MaxPooled = 64;

    private static readonly ConcurrentBag<byte[]> s_buffers = [];
    private static readonly int s_directFlag = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => 0,
    };
    /// <summary>Whether this OS has O_DIRECT at all (each file system may still refuse it).</summary>
    public static bool Supported => s_directFlag != 0;

    /// <summary>
    /// Creates <paramref name="path"/> (it must not exist) holding <paramref name="image"/>'s file.
    /// False, with nothing created, when this file system does not take O_DIRECT.
    /// </summary>
    public static bool TryWrite(string path, GeneratedImage image)
    {
        using var file = TryCreate(path);
        if (file is null) return false;
        var buffer = Rent();
        try
        {
            var slice = Aligned(buffer);
            var length = image.Length;
            var decoded = image.BytesIfDecoded;
            var base64 = decoded is null ? image.Base64Memory() : default;
            long offset = 0;
            while (offset < length)
            {
                int written;
                if (decoded is not null)
                {
                    written = (int)Math.Min(Slice, length - offset);
                    decoded.AsSpan((int)offset, written).CopyTo(slice);
                }
                else
                {
                    var take = Math.Min(base64.Length, Slice / 3 * 4);
                    var status = Base64.DecodeFromUtf8(base64.Span[..take], slice, out var consumed, out written, isFinalBlock: take == base64.Length);
                    if (status != System.Buffers.OperationStatus.Done || consumed != take) throw new InvalidDataException("The image's base64 is not strict.");
                    base64 = base64[take..];
                }
                if (written == 0) break;
                // Whole aligned blocks only: the last one goes out padded, and the file is cut back to its length below.
                var aligned = (written + Alignment - 1) / Alignment * Alignment;
                slice[written..aligned].Clear();
                RandomAccess.Write(file, slice[..aligned], offset);
                offset += written;
            }
            if (offset != length) throw new InvalidDataException($"The image came to {offset} bytes, not {length}.");
            RandomAccess.SetLength(file, length);
            return true;
        }
        finally
        {
            Return(buffer);
        }
    }

    private static SafeFileHandle? TryCreate(string path)
    {
        if (!Supported) return null;
        const int WriteOnly = 0x1, Create = 0x40, Exclusive = 0x80, CloseOnExec = 0x80000;
        var fd = Open(path, WriteOnly | Create | Exclusive | CloseOnExec | s_directFlag, 0b110_100_100);
        if (fd >= 0) return new SafeFileHandle(fd, ownsHandle: true);
        var errno = Marshal.GetLastPInvokeError();
        const int InvalidArgument = 22, NotSupported = 95;
        if (errno is InvalidArgument or NotSupported) return null; // this file system has no O_DIRECT
        throw new IOException($"Could not create '{Path.GetFileName(path)}': {Marshal.GetPInvokeErrorMessage(errno)}", errno);
    }

    /// <summary>Buffers on the pinned heap, one alignment larger than a slice, so an aligned slice fits in each.</summary>
    private static byte[] Rent() => s_buffers.TryTake(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(Slice + Alignment, pinned: true);

    private static Span<byte> Aligned(byte[] buffer)
    {
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0);
        var skip = (int)((Alignment - address % Alignment) % Alignment);
        return buffer.AsSpan(skip, Slice);
    }

    private static void Return(byte[] buffer)
    {
        if (s_buffers.Count < MaxPooled) s_buffers.Add(buffer);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);
}
