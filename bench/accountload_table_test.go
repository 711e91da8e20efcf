package bench

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// requests is how many account-service requests were answered: grant
// calls and token refreshes.
func (r *loadResult) requests() int { return r.grants + r.refreshes }

func (r *loadResult) perSecond(n int) float64 { return float64(n) / r.elapsed.Seconds() }

func (r *loadResult) summary() string {
	return fmt.Sprintf("%s: %d devices, %s: %d grant calls (%.0f/s), %d refreshes, %d photos stored; errors: %d %s; set-up: %d sign-ups in %s (%d × 503 busy), %d sign-ins in %s (%d × 503 busy)",
		r.spec.name, r.spec.devices, r.elapsed.Round(time.Millisecond), r.grants, r.perSecond(r.grants), r.refreshes, r.puts,
		r.stats.errorCount(), r.stats.errorText(), r.spec.devices, r.signupTime.Round(time.Millisecond), r.signupBusy,
		r.spec.devices, r.signinTime.Round(time.Millisecond), r.signinBusy)
}

func millis(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func loadLatencies(r *loadResult, kind string) string {
	p50, p95, p99 := r.stats.percentiles(kind)
	return millis(p50) + " / " + millis(p95) + " / " + millis(p99)
}

// printLoadTable prints the account load's table, then the errors and
// CPU profiles of each run.
func printLoadTable(results []*loadResult) {
	fmt.Printf("\naccount service under load: simulated devices, each with its own account, asking in a loop for the grant of a photo's PUT\n")
	fmt.Printf("with the commit of the one before, storing the photo (16 KiB) in MinIO, and refreshing its token at half its life (access_ttl 30s);\n")
	fmt.Printf("CPU seconds of the load phase; %d cores shared by the account service, PostgreSQL, MinIO and the load generator\n"+
		"(ours: their sum ÷ cores × s; machine: every process's, from /proc/stat); (d)–(f) ask for grants only, storing nothing:\n\n", runtime.NumCPU())
	fmt.Println("| run | devices | requests/s | grants/s | refreshes/s | grant p50 / p95 / p99 ms | refresh p50 / p95 / p99 ms | errors | service CPU s | service CPU ms/request | PostgreSQL CPU s | MinIO CPU s | load generator CPU s | CPU busy: ours / machine | service peak RSS MiB: load (sign-ups) | PostgreSQL connections busy: mean (all pool busy) | sign-ups/s (503 busy) | sign-ins/s (503 busy) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		all := r.serviceCPU + r.postgresCPU + r.minioCPU + r.clientCPU
		cores := float64(runtime.NumCPU()) * r.elapsed.Seconds()
		pool := "–"
		if r.pgPool > 0 {
			pool = fmt.Sprintf("%.1f of %d (%.0f %%)", r.pgBusyMean, r.pgPool, 100*r.pgBusyFull)
		}
		fmt.Printf("| %s | %d | %.0f | %.0f | %.1f | %s | %s | %d | %.1f | %.2f | %.1f | %.1f | %.1f | %.0f %% / %.0f %% | %.0f (%.0f) | %s | %.1f (%d) | %.1f (%d) |\n",
			r.spec.name, r.spec.devices, r.perSecond(r.requests()), r.perSecond(r.grants), r.perSecond(r.refreshes),
			loadLatencies(r, "grant"), loadLatencies(r, "refresh"), r.stats.errorCount(),
			r.serviceCPU, 1000*r.serviceCPU/float64(max(r.requests(), 1)), r.postgresCPU, r.minioCPU, r.clientCPU,
			100*all/cores, 100*r.machineCPU/cores, r.peakRSS, r.signupRSS, pool,
			float64(r.spec.devices)/r.signupTime.Seconds(), r.signupBusy, float64(r.spec.devices)/r.signinTime.Seconds(), r.signinBusy)
	}
	fmt.Println()
	for _, r := range results {
		fmt.Printf("%s:", r.spec.name)
		if r.puts > 0 {
			p50, p95, p99 := r.stats.percentiles("storage put")
			fmt.Printf(" storage PUTs (device → MinIO) p50 / p95 / p99 %s / %s / %s ms;", millis(p50), millis(p95), millis(p99))
		}
		if text := r.stats.errorText(); text != "" {
			fmt.Printf(" errors: %s;", text)
		}
		if r.setupErrors != "" {
			fmt.Printf(" during set-up: %s;", r.setupErrors)
		}
		if p := strings.Join(r.profiles, " "); strings.TrimSpace(p) != "" {
			fmt.Printf(" CPU profiles: %s", p)
		}
		fmt.Println()
	}
}
