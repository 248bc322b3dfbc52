#!/usr/bin/env bash
# Runs every test of ImageGateway on a fresh machine: installs what the tests need (when it can),
# builds once, then runs the in-process suite and the integration suite (real gateway processes,
# official OpenAI SDK).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*"; }

if ! command -v dotnet >/dev/null 2>&1; then
  echo "dotnet (the .NET 10 SDK) is required: https://dotnet.microsoft.com/download" >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say "Restoring and building"
dotnet build ImageGateway.slnx -c Release --nologo -v quiet

status=0
for project in tests/ImageGateway.Tests tests/ImageGateway.IntegrationTests; do
  say "Testing $project"
  dotnet test "$project" -c Release --no-build --nologo || status=1
done

if [ "$status" -ne 0 ]; then
  say "Some tests FAILED"
else
  say "All tests passed"
fi
exit "$status"
