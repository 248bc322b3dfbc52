using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Billing;

/// <summary><c>Gateway:Billing</c>.</summary>
public sealed class BillingOptions
{
    public const string Section = "Gateway:Billing";

    /// <summary>A reservation still open after this long belongs to a crashed request and is released.</summary>
    public int HoldTimeoutSeconds { get; set; } = 900;

    /// <summary>What one credit is worth in US dollars, for the margin report against upstream costs (the default prices assume $0.001).</summary>
    public decimal UsdPerCredit { get; set; } = 0.001m;
}

public sealed class BillingOptionsValidator : IValidateOptions<BillingOptions>
{
    public ValidateOptionsResult Validate(string? name, BillingOptions options)
    {
        var errors = new List<string>();
        if (options.HoldTimeoutSeconds < 1)
            errors.Add($"Gateway:Billing:HoldTimeoutSeconds {options.HoldTimeoutSeconds} must be positive.");
        if (options.UsdPerCredit <= 0) errors.Add($"Gateway:Billing:UsdPerCredit {options.UsdPerCredit} must be positive.");
        return errors.ToResult();
    }
}
