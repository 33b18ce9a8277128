using System.Globalization;

/// <summary>
/// CPU time of named process trees from /proc, read before and after each phase, so every phase can say how
/// many milliseconds of CPU each process (service, PostgreSQL, blob server, this tool) spent per request.
/// </summary>
/// <remarks>
/// A tree's time is, over the root and every live descendant, user + system time plus the time of their
/// children already reaped (cutime + cstime). PostgreSQL's backends are the postmaster's children: a backend
/// that exits during a phase moves from "live" to the postmaster's reaped time, so it is neither lost nor
/// counted twice. /proc counts in USER_HZ ticks (100 per second on Linux whatever the kernel's HZ;
/// `getconf CLK_TCK` tells, and load.sh passes it).
/// </remarks>
internal sealed class CpuMonitor(IReadOnlyList<(string Name, int Pid)> processes, int ticksPerSecond)
{
    public static CpuMonitor? Parse(IReadOnlyList<string> specs, int ticksPerSecond)
    {
        var processes = new List<(string, int)>();
        foreach (var spec in specs)
        {
            var at = spec.LastIndexOf('=');
            if (at <= 0 || !int.TryParse(spec.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                throw new ArgumentException($"--cpu takes NAME=PID, not '{spec}'");
            }

            processes.Add((spec[..at], pid));
        }

        processes.Add(("load tool", Environment.ProcessId));
        return new CpuMonitor(processes, ticksPerSecond);
    }

    /// <summary>CPU seconds of each tree so far, in the order given; -1 where the process is gone.</summary>
    public double[] Snapshot()
    {
        var stats = ReadAll();
        var children = stats.Values.ToLookup(s => s.Parent);
        var seconds = new double[processes.Count];
        for (var i = 0; i < processes.Count; i++)
        {
            if (!stats.ContainsKey(processes[i].Pid))
            {
                seconds[i] = -1;
                continue;
            }

            long ticks = 0;
            var pending = new Stack<int>([processes[i].Pid]);
            var seen = new HashSet<int>();
            while (pending.TryPop(out var pid))
            {
                if (!seen.Add(pid) || !stats.TryGetValue(pid, out var stat))
                {
                    continue;
                }

                ticks += stat.Ticks;
                foreach (var child in children[pid])
                {
                    pending.Push(child.Pid);
                }
            }

            seconds[i] = (double)ticks / ticksPerSecond;
        }

        return seconds;
    }

    /// <summary>"service 1.71, postgres 1.60, …" in milliseconds per request between two snapshots.</summary>
    public string PerRequest(double[] before, double[] after, int requests)
    {
        var parts = new List<string>(processes.Count);
        for (var i = 0; i < processes.Count; i++)
        {
            parts.Add(before[i] < 0 || after[i] < 0 || requests == 0
                ? $"{processes[i].Name} n/a"
                : $"{processes[i].Name} {(after[i] - before[i]) * 1000 / requests:0.00}");
        }

        return string.Join(", ", parts);
    }

    private sealed record Stat(int Pid, int Parent, long Ticks);

    private static Dictionary<int, Stat> ReadAll()
    {
        var stats = new Dictionary<int, Stat>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (Parse(pid, File.ReadAllText(Path.Combine(directory, "stat"))) is { } stat)
                {
                    stats[pid] = stat;
                }
            }
            catch (IOException)
            {
                // The process ended between the listing and the read.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return stats;
    }

    // proc(5): "pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17) …"; comm may hold spaces and
    // parentheses, so the fields are counted from the last ')'.
    private static Stat? Parse(int pid, string line)
    {
        var close = line.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = line[(close + 2)..].Split(' ');
        if (fields.Length < 15)
        {
            return null;
        }

        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return new Stat(pid, (int)Field(4), Field(14) + Field(15) + Field(16) + Field(17));
    }
}
