const serviceWebpackConfig = require('../../webpack.service.config');

module.exports = serviceWebpackConfig('console');
