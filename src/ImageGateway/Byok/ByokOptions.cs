namespace ImageGateway.Byok;

/// <summary><c>Gateway:Byok</c>. A switch only, so there is nothing to validate.</summary>
public sealed class ByokOptions
{
    public const string Section = "Gateway:Byok";

    /// <summary>When the caller's own key fails, serve from the platform key (billed) instead of returning the error.</summary>
    public bool FallbackToPlatform { get; set; }
}
