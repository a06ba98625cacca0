#!/usr/bin/env bash
# Runs a tool of the Grpc.Tools NuGet package (protoc or grpc_csharp_plugin)
# from the NuGet cache, restoring the package first when the cache lacks it,
# so that `buf generate` works on a fresh clone with only the .NET SDK.
#
#   grpc-tools.sh protoc [args...]
#   grpc-tools.sh grpc_csharp_plugin [args...]
#
# buf.gen.yaml uses it for both C# steps: the messages come from this
# protoc (buf's protoc_path) and the client from this grpc_csharp_plugin, so
# the C# output depends on the pinned package alone, never on whichever
# protoc the machine has on PATH.
#
# stdout belongs to the tool (a plugin's answer, protoc --version), so
# everything this script says goes to stderr.
set -euo pipefail

version=2.85.0
tool=${1:?usage: grpc-tools.sh protoc|grpc_csharp_plugin [args...]}
shift

case "$tool" in
  protoc | grpc_csharp_plugin) ;;
  *) echo "grpc-tools.sh: unknown tool $tool" >&2; exit 2 ;;
esac

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux_x64 ;;
  Linux-aarch64 | Linux-arm64) platform=linux_arm64 ;;
  Linux-i?86) platform=linux_x86 ;;
  # One universal (x64 and arm64) build for macOS.
  Darwin-*) platform=macosx_universal ;;
  # Git Bash and the like on Windows.
  MINGW*-x86_64 | MSYS*-x86_64 | CYGWIN*-x86_64) platform=windows_x64 exe=.exe ;;
  *) echo "grpc-tools.sh: Grpc.Tools has no binaries for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac

packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
bin="$packages/grpc.tools/$version/tools/$platform/$tool${exe:-}"

if [ ! -f "$bin" ]; then
  command -v dotnet >/dev/null 2>&1 || {
    echo "grpc-tools.sh: Grpc.Tools $version is not in $packages and dotnet is missing to restore it" >&2
    exit 1
  }
  # A throwaway project in a temp dir rather than one in the repo: buf runs
  # plugins in parallel, and two restores of one project would race on its
  # obj/ folder; NuGet itself guards the shared package cache.
  tmp=$(mktemp -d)
  cat >"$tmp/restore.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <!-- The newest .NET this SDK has: its reference pack needs no download. -->
    <TargetFramework>net\$(NETCoreAppMaximumVersion)</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Grpc.Tools" Version="$version" PrivateAssets="all" />
  </ItemGroup>
</Project>
EOF
  echo "grpc-tools.sh: restoring Grpc.Tools $version into $packages" >&2
  status=0
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet restore "$tmp/restore.csproj" --verbosity quiet >&2 || status=$?
  # Removed here, not by a trap: exec below would skip an EXIT trap.
  rm -rf "$tmp"
  [ "$status" = 0 ] || exit "$status"
  [ -f "$bin" ] || { echo "grpc-tools.sh: restored, but $bin is still missing" >&2; exit 1; }
fi

# NuGet extracts files without their execute bit on some systems; Grpc.Tools'
# own MSBuild targets fix that the same way.
[ -x "$bin" ] || chmod u+x "$bin"

exec "$bin" "$@"
