using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Billing;

/// <summary><c>Gateway:Billing</c>.</summary>
public sealed class BillingOptions
{
    public const string Section = "Gateway:Billing";

    /// <summary>A reservation still open after this long belongs to a crashed request and is released.</summary>
    public int HoldTimeoutSeconds { get; set; } = 900;
}

public sealed class BillingOptionsValidator : IValidateOptions<BillingOptions>
{
    public ValidateOptionsResult Validate(string? name, BillingOptions options)
    {
        var errors = new List<string>();
        if (options.HoldTimeoutSeconds < 1)
            errors.Add($"Gateway:Billing:HoldTimeoutSeconds {options.HoldTimeoutSeconds} must be positive.");
        return errors.ToResult();
    }
}
