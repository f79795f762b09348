# The settings of bench/peers/capistrano (see the Capfile). Everything about the hosts comes
# from the environment the caller sets: PEERS_HOSTS (a JSON list of name, address, port,
# deploy_path, app_port), PEERS_USER, PEERS_KEY, PEERS_KNOWN_HOSTS, PEERS_TARBALL,
# RELEASE_ID (14 digits, Capistrano's release names) and PEERS_KEEP.
require "json"
require "stringio"

lock "~> 3.17"

set :application, "web"
set :tarball, ENV.fetch("PEERS_TARBALL", "")
set :release_timestamp, ENV.fetch("RELEASE_ID") { Time.now.utc.strftime("%Y%m%d%H%M%S") }
set :keep_releases, Integer(ENV.fetch("PEERS_KEEP", "3"))
set :linked_dirs, %w[logs]
set :pty, false
set :format, :pretty
set :log_level, :warn
set :format_options, log_file: nil
set :ssh_options, {
  user: ENV.fetch("PEERS_USER"),
  keys: [ENV.fetch("PEERS_KEY")],
  keys_only: true,
  auth_methods: %w[publickey],
  user_known_hosts_file: ENV.fetch("PEERS_KNOWN_HOSTS"),
  global_known_hosts_file: "/dev/null",
  verify_host_key: :always,
  timeout: 10,
}

# The farm's hosts share one filesystem, so each has its own deploy path, where a real
# fleet shares one :deploy_to: inside an `on` block the paths are the host's own.
module Capistrano::DSL::Paths
  alias_method :fleet_deploy_to, :deploy_to
  alias_method :fleet_release_path, :release_path

  def deploy_to
    is_a?(SSHKit::Backend::Abstract) ? host.properties.deploy_to : fleet_deploy_to
  end

  def release_path
    path = fleet_release_path
    return path unless is_a?(SSHKit::Backend::Abstract) && fetch(:release_path, nil)

    releases_path.join(path.basename)
  end
end

# Wait for the app's health URL like wave does: every 0.2 s, for up to 15 s.
HEALTH = 'end=$(( $(date +%s) + 15 )); while :; do ' \
         'c=$(curl -s -o /dev/null -w "%{http_code}" --max-time 5 -- "$1"); ' \
         'case "$c" in 2??|3??) exit 0;; esac; ' \
         '[ "$(date +%s)" -ge "$end" ] && { echo "$1 answered $c" >&2; exit 1; }; sleep 0.2; done'

namespace :pm2 do
  desc "Write the pm2 ecosystem file (cwd through current), startOrReload it, check health"
  task :reload do
    on roles(:app) do |host|
      release = capture(:readlink, current_path).split("/").last
      ecosystem = deploy_path.join(".wave-pm2-web.json")
      app = {
        name: "web", script: "server.js", cwd: current_path.to_s, args: [], instances: 1,
        exec_mode: "fork", merge_logs: true,
        env: { PORT: host.properties.app_port.to_s, WAVE_RELEASE: release },
      }
      upload! StringIO.new(JSON.generate({ apps: [app] })), ecosystem.to_s
      within current_path do
        execute :pm2, "startOrReload", ecosystem, "--update-env"
      end
      execute :sh, "-c", "'#{HEALTH}'", "sh", "http://127.0.0.1:#{host.properties.app_port}/api/health"
    end
  end
end
after "deploy:publishing", "pm2:reload"
