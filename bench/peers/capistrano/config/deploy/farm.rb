# The hosts of the caller's farm (PEERS_HOSTS), all in the role :app.
JSON.parse(File.read(ENV.fetch("PEERS_HOSTS"))).each do |h|
  server h["address"], port: h["port"], roles: %w[app],
                       deploy_to: h["deploy_path"], app_port: h["app_port"]
end
