using Microsoft.Extensions.Options;

namespace ImageGateway.History;

/// <summary><c>Gateway:History</c>: what the caller's own record of their requests keeps, and for how long.</summary>
public sealed class HistoryOptions
{
    public const string Section = "Gateway:History";

    /// <summary>False: entries are kept without their prompt (the deployment must not store prompts).</summary>
    public bool KeepPrompts { get; set; } = true;

    /// <summary>Entries older than this are pruned by housekeeping; 0 keeps them until the user deletes them.</summary>
    public int KeepDays { get; set; } = 90;
}

public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, HistoryOptions options) => options.KeepDays < 0
        ? ValidateOptionsResult.Fail($"{HistoryOptions.Section}:KeepDays must be 0 (keep) or a number of days; got {options.KeepDays}.")
        : ValidateOptionsResult.Success;
}
